"""`edgec serve`: split-model tails (and whole models) behind the Open Inference Protocol
(KServe v2 REST) with Triton's binary tensor extension, so tritonclient.http and any
KServe v2 client work unchanged. protocol.py parses and writes the wire format;
app.py is the aiohttp application (auth, limits, metrics, graceful shutdown)."""
