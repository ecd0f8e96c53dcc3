# Runs moto's S3 server as its `moto_server` command does, with one difference: requests that
# carry `If-None-Match` (a conditional put, or completing a multipart upload conditionally) are
# served one at a time. moto checks the condition and then writes the object, without a lock
# between the two, so of two conditional puts racing to one new key both could win; S3 makes the
# check and the write one step, and Sluice relies on that (checkpoint `_metadata`, claims).
# Usage: python moto-server.py HOST PORT
import os
import signal
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    conditional_writes = threading.Lock()

    def serve(environ, start_response):
        if "HTTP_IF_NONE_MATCH" not in environ:
            return app(environ, start_response)
        with conditional_writes:
            # The whole answer is produced inside the lock: the check and the write are one step.
            return list(app(environ, start_response))

    run_simple(host, port, serve, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
