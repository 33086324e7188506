"""Is a comment English? A light check so the English lexicons are not asked about other languages.

No library: the language detectors on PyPI either pull a model and numpy into every webhook or guess
poorly on the five-word comments surveys get. Two documented signals, both cheap:
1. the script: when most letters are outside the Latin alphabet (Japanese, Russian, Arabic, Greek …)
   the comment is not English;
2. for Latin-script text of a few words, the share of very common function words of English against
   those of Spanish, French, German, Portuguese, Italian and Dutch: a comment with several of theirs
   and few of ours is not English.
Short or unclear text counts as English: a miss costs a "neutral" where a wrong call would hide a
complaint behind "not analysed".
"""

from __future__ import annotations

import unicodedata

# Function words only (articles, pronouns, prepositions, auxiliaries): they appear in any comment on
# any topic. Words shared with English ("a", "in", "is", "me", "die", "on") are left out of the others.
_ENGLISH = frozenset(
    "the and is are was were it this that to of for with my we our you your i not but have has had be been "
    "they them their there what when can can't cannot don't doesn't didn't won't it's i'm very so just "
    "would could should will from at by an or if all about me after again still never no".split())
_OTHERS = frozenset(
    # Spanish
    "el la los las que de del y es muy pero por para con una uno mi su lo se no está están fue "
    "como más hay esto esta este nos ya también cuando porque sin sobre "
    # French
    "le les des est et une du au aux pas je vous nous il elle ce cette qui avec sur mais très "
    "été avons sont dans ne tout fait ça c'est j'ai n'est "
    # German
    "der das und ist nicht ein eine ich sie wir mit für auf sehr aber auch es zu den dem nach noch "
    "wird wurde sind haben kein keine bei oder schon immer "
    # Portuguese
    "o uma é não muito mas por para da dos das em nós ele ela isso está foi são "
    "também quando sem mais "
    # Italian
    "il gli lo della delle che è non molto ma con sono anche ho hanno questo questa nel "
    # Dutch
    "het een en niet ik wij zijn heb hebben maar ook voor zeer deze dit wordt geen nog".split()) - _ENGLISH

# Below this many letters the script share is noise (an emoji and "ok").
_MIN_LETTERS = 4
# Latin-script text needs this many foreign function words, and more than twice ours, to be foreign.
_MIN_FOREIGN_WORDS = 2


def _is_latin(char: str) -> bool:
    return "LATIN" in unicodedata.name(char, "")


def is_english(text: str, tokens: list[str]) -> bool:
    """False only when the comment is clearly in another language (see the module docstring)."""
    head = text[:2000]
    # ASCII text is all Latin script: the per-letter count below cannot say "not English" for it.
    letters = [] if head.isascii() else [char for char in head if char.isalpha()]
    if len(letters) >= _MIN_LETTERS:
        latin = sum(1 for char in letters if char.isascii() or _is_latin(char))
        if latin * 2 < len(letters):
            return False
    ours = sum(1 for token in tokens if token in _ENGLISH)
    theirs = sum(1 for token in tokens if token in _OTHERS)
    return not (theirs >= _MIN_FOREIGN_WORDS and theirs > 2 * ours)
