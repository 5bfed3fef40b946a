"""`python -m tests.stripe_double`: localstripe and our layer in front of it, both on 127.0.0.1 and free
ports, in one event loop. Prints `READY <layer url> <localstripe url>` once both listen."""

import asyncio
import sys

from aiohttp import web
from localstripe.server import app as localstripe_app

from tests.stripe_double.layer import Layer


async def main() -> None:
    upstream = web.AppRunner(localstripe_app, access_log=None)
    await upstream.setup()
    await web.TCPSite(upstream, "127.0.0.1", 0).start()
    host, port = upstream.addresses[0][:2]
    upstream_url = f"http://{host}:{port}"
    layer = web.AppRunner(Layer(upstream_url).app(), access_log=None)
    await layer.setup()
    await web.TCPSite(layer, "127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    host, port = layer.addresses[0][:2]
    print(f"READY http://{host}:{port} {upstream_url}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
