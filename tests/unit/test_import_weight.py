"""Configuration is read by every process (worker, clock, CLI): it must not pull in the scorers."""

from __future__ import annotations

import subprocess
import sys


def test_reading_configuration_does_not_import_textblob():
    code = "import sys, bot.config, bot.intake.providers; print('textblob' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
