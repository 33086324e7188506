"""The app under test, for the benchmarks: `python -m bench.app_server SPEC_JSON` in its own process.

With `"role": "worker"` in the spec it runs the delivery worker alone instead, as `cxloop worker` does.

The real app (bot.web.create_app over bot.runtime.build_runtime, served by uvicorn) talking to a fake
Slack the benchmark runs elsewhere, plus one bench-only route, `POST /bench/bare`: the reference
endpoint on the same server stack (it reads the body and answers JSON, nothing else). The route is
added here, through create_app(extra_routes=...), and never exists in the product.
"""

from __future__ import annotations

import json
import logging
import sys

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.config import Settings, parse_config
from bot.delivery.worker import DeliveryWorker
from bot.runtime import build_runtime
from bot.web import create_app

BOT_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-signing-secret"
WEBHOOK_SECRET = "bench-webhook-secret"


async def bare(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"status": "ok"}, status_code=202)


def main(spec: dict) -> None:
    logging.basicConfig(level=logging.WARNING)
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_app_token=None,
                        slack_api_url=spec["slack_api_url"], database_url=spec["database_url"], config_path="(bench)",
                        port=spec["port"], log_level="WARNING")
    config = parse_config(spec["config"], environ={"GENERIC_WEBHOOK_SECRET": WEBHOOK_SECRET})
    runtime = build_runtime(settings, config, bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                            slack_api_url=spec["slack_api_url"])
    worker = None
    if spec.get("worker") or spec.get("role") == "worker":
        worker = DeliveryWorker(runtime.factory, runtime.client, config=config, **spec.get("worker_options", {}))
    if spec.get("role") == "worker":  # delivery alone, as `cxloop worker` runs it
        worker.run_forever()
        return
    app = create_app(runtime, worker=worker, extra_routes=[Route("/bench/bare", bare, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=spec["port"], log_level="warning", lifespan="on")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
