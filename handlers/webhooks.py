"""POST /webhooks/<source>: (size and time bounded in front) → the source → bot/intake/receive.py → JSON answer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.delivery.outbound import ProviderAPIs
from bot.intake.group_commit import GroupCommitWriter
from bot.intake.receive import Answer, Receiver
from bot.logs import REQUEST_ID_HEADER, new_request_id, request_id_var
from bot.metrics import WEBHOOKS
from bot.runtime import Runtime


def make_webhook_endpoint(runtime: Runtime, writer: GroupCommitWriter, providers: ProviderAPIs):
    receiver = Receiver(runtime, writer, providers)

    async def endpoint(request: Request) -> Response:
        """Give the request its id (logged with every line, stored for the Slack post) and count it."""
        name = request.path_params["source"]
        source = runtime.config.source(name)
        token = request_id_var.set(request_id := new_request_id(request.headers.get(REQUEST_ID_HEADER)))
        try:
            if source is None:
                answer = Answer(404, {"error": f"unknown source {name[:64]!r}"})
            elif request.method == "HEAD":
                answer = Answer(200)
            else:
                headers = {key.lower(): value for key, value in request.headers.items()}
                answer = await receiver.receive(source, await request.body(), headers)
        finally:
            request_id_var.reset(token)
        response = (Response(status_code=answer.status, headers=answer.headers) if answer.body is None
                    else JSONResponse(answer.body, status_code=answer.status, headers=answer.headers))
        response.headers[REQUEST_ID_HEADER] = request_id
        # An unknown name is counted as "unknown": label values must not come from strangers.
        WEBHOOKS.labels(source=name if source else "unknown", code=str(response.status_code)).inc()
        return response

    return endpoint
