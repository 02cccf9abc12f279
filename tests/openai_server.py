"""A real OpenAI-compatible server for the tests: POST /v1/chat/completions answered by the embedded tiny model
(transformers, greedy), on a free 127.0.0.1 port in a thread of the test process. It counts the answers it gave,
can demand a key (401 otherwise) and can fail (503) once it has answered `fail_after` requests."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TinyChatModel:
    def __init__(self):
        from fai_rl.config.schema import HardwareConfig, ModelConfig
        from fai_rl.models.loading import load_model, load_tokenizer

        config = ModelConfig(base_model_name="builtin:tiny")
        self.tokenizer, self.model = load_tokenizer(config), load_model(config, HardwareConfig()).eval()
        self.lock = threading.Lock()

    def reply(self, messages: list, max_tokens: int) -> str:
        from fai_rl.models.generation import generate

        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        with self.lock:
            return generate(self.model, self.tokenizer, [text], max_tokens, 1, 0.0, progress=False)[0]


class State:
    def __init__(self, key: str | None):
        self.key, self.fail_after, self.answered, self.refused = key, None, 0, 0
        self.lock = threading.Lock()


def handler(model: TinyChatModel, state: State):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, code: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.send(200, {"object": "list", "data": [{"id": "tiny", "object": "model"}]})

        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if state.key and self.headers.get("Authorization") != f"Bearer {state.key}":
                return self.send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                                 "code": "invalid_api_key"}})
            if self.path != "/v1/chat/completions":
                return self.send(404, {"error": {"message": f"no route {self.path}"}})
            with state.lock:
                if state.fail_after is not None and state.answered >= state.fail_after:
                    state.refused += 1
                    return self.send(503, {"error": {"message": "overloaded"}})
                state.answered += 1
            content = model.reply(request["messages"], int(request.get("max_tokens") or 16))
            self.send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": request.get("model"),
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": content}}],
                            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})

    return Handler


@contextmanager
def openai_server(model: TinyChatModel, key: str | None = None):
    """Yields (base URL ending in /v1, State); the server is shut down afterwards."""
    state = State(key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler(model, state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
