"""`edgec serve` and `edgec split` subcommands."""
from __future__ import annotations

from pathlib import Path


def cmd_serve(args):
    from .app import serve
    token = Path(args.token_file).read_text().strip() if args.token_file else None
    if token == "":
        raise ValueError(f"{args.token_file}: the token file is empty")
    serve(args.dir, host=args.host, port=args.port, token=token, threads=args.threads,
          max_body=args.max_body, max_concurrent=args.max_concurrent, timeout_s=args.timeout,
          max_delay_ms=args.max_delay_ms)
    return 0


def cmd_split(args):
    import edgec
    from edgec.converters.split.cut import frontier_cut, write_split
    shapes = {}
    for s in args.input_shape or []:
        name, _, dims = s.partition(":")
        shapes[name] = tuple(int(d) for d in dims.split(","))
    m = edgec.convert(args.model, input_shape=shapes or None, progress=False)
    if (args.at is None) == (args.after_op is None):
        raise ValueError("give the cut as --at T1[,T2...] (tensor names from `edgec inspect`) or --after-op K")
    cut = args.at.split(",") if args.at else frontier_cut(m.graph, args.after_op)
    batch_graphs = {}
    for b in [int(v) for v in args.batch_sizes.split(",")] if args.batch_sizes else []:
        if b < 2:
            continue
        if not shapes:
            raise ValueError("--batch-sizes needs --input-shape (the batch-1 shapes to scale)")
        batch_graphs[b] = edgec.convert(args.model, input_shape={k: (b,) + v[1:] for k, v in shapes.items()},
                                        progress=False).graph
    desc = write_split(m.graph, cut, args.output, mode=args.codec, batch_graphs=batch_graphs)
    for t in desc["tensors"]:
        print(f"cut {t['name']}: {t['dtype']}{t['shape']} ({t['mode']})")
    print(f"wrote {args.output}/head.edgec, tail.edgec, model.edgec, codec.json")
    return 0


def add_parsers(sub):
    s = sub.add_parser("split", help="cut a model into a device head and a server tail")
    s.add_argument("model")
    s.add_argument("--at", help="cut tensors, comma-separated")
    s.add_argument("--after-op", type=int, help="cut after op K (every tensor crossing it)")
    s.add_argument("--codec", default="lossless", choices=["lossless", "q8", "q6", "q4", "q2"])
    s.add_argument("--input-shape", action="append", metavar="NAME:D0,D1,...")
    s.add_argument("--batch-sizes", help="also write tails for these batch sizes (e.g. 4,8) for dynamic batching")
    s.add_argument("-o", "--output", required=True)
    s.set_defaults(fn=cmd_split)
    v = sub.add_parser("serve", help="serve split tails / models over KServe v2 REST")
    v.add_argument("dir")
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8000)
    v.add_argument("--token-file", help="file holding the bearer token clients must send")
    v.add_argument("--threads", type=int, default=1)
    v.add_argument("--max-body", type=int, default=64 << 20, help="bytes (413 above)")
    v.add_argument("--max-concurrent", type=int, default=32, help="requests in flight (503 above)")
    v.add_argument("--timeout", type=float, default=30.0, help="seconds per inference (504 above)")
    v.add_argument("--max-delay-ms", type=float, default=0.0,
                   help="dynamic batching: wait up to this long to group requests (models with tail_b*.edgec)")
    v.set_defaults(fn=cmd_serve)
