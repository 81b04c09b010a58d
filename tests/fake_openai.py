"""A tiny OpenAI-compatible chat server on 127.0.0.1 that misbehaves on request.

Each request is answered by the server's current `mode`; every request (path, headers and
JSON body) is recorded, so a test can check what the client really sent.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("echo", "slow", "malformed", "empty", "endless", "refuse", "unauthorized", "die",
         "invalid_tool_call", "unknown_tool")


def _completion(content: str | None, *, tool_calls: list[dict] | None = None) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": "fake", "choices": [{"index": 0, "message": message,
                                          "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (a timeout) closed the socket: expected here


class FakeOpenAI:
    """Start with `with FakeOpenAI() as server:`; `server.url` is the base URL (…/v1)."""

    def __init__(self, mode: str = "echo", *, reply: str = "A short paragraph.") -> None:
        self.mode, self.reply = mode, reply
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output clean
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests.append({"path": self.path, "headers": {name.lower(): value for name, value in self.headers.items()},
                                       "body": json.loads(body or b"{}")})
                owner._answer(self)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        mode = self.mode
        if mode == "slow":
            time.sleep(5.0)
        if mode == "die":
            # Headers and half a body, then the connection drops.
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            handler.wfile.write(b'{"id": "chatcmpl-fake", "choi')
            handler.wfile.flush()
            handler.connection.close()
            return
        if mode == "refuse":
            return self._send(handler, 503, {"error": {"message": "the server is overloaded"}})
        if mode == "unauthorized":
            key = handler.headers.get("Authorization", "").removeprefix("Bearer ")
            # Like the real API, the error quotes the key it was given.
            return self._send(handler, 401, {"error": {"message": f"Incorrect API key provided: {key}",
                                                       "type": "invalid_request_error"}})
        if mode == "malformed":
            return self._send(handler, 200, b"<html>this is not JSON</html>")
        if mode == "empty":
            return self._send(handler, 200, _completion(""))
        if mode == "endless":
            return self._send(handler, 200, _completion("and then the music goes on " * 20000))
        if mode == "invalid_tool_call":
            return self._send(handler, 200, _completion(None, tool_calls=[{
                "id": "call_1", "type": "function",
                "function": {"name": "song_facts", "arguments": "{not json"}}]))
        if mode == "unknown_tool":
            return self._send(handler, 200, _completion(None, tool_calls=[{
                "id": "call_1", "type": "function",
                "function": {"name": "rm_rf", "arguments": "{}"}}]))
        return self._send(handler, 200, _completion(self.reply))

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict | bytes) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def __enter__(self) -> "FakeOpenAI":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
