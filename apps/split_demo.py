"""`edgec demo split`: the faces demo with the model split in two: BlazeFace's head runs
here, the compressed cut tensor goes to `edgec serve`, the tail's outputs come back and
are post-processed here; when the server is slow or gone the whole model runs locally
(edgec.SplitClient) and the output says which happened.

    edgec split face_detection_short_range.tflite --at activation_8 --codec q8 -o split/faces
    edgec serve split/ --token-file token &
    edgec demo split --server http://127.0.0.1:8000 --split-dir split/faces --token-file token --images photo.jpg
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    from PIL import Image
    import edgec
    from .blazeface import MODELS, FaceDetector, draw
    ap = argparse.ArgumentParser(prog="edgec demo split", description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+")
    ap.add_argument("--server", required=True)
    ap.add_argument("--split-dir", required=True)
    ap.add_argument("--model", choices=sorted(MODELS), default="short")
    ap.add_argument("--token-file")
    ap.add_argument("--deadline-ms", type=float, default=1000.0)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if not args.server or not args.split_dir:
        raise SystemExit("edgec demo split needs --server URL and --split-dir DIR (made by `edgec split`; "
                         "see `python -m edgec.apps.split_demo --help`)")
    token = Path(args.token_file).read_text().strip() if args.token_file else None
    det = FaceDetector(args.model)
    client = edgec.SplitClient(args.split_dir, args.server, token=token, deadline_ms=args.deadline_ms)
    for path in args.images:
        img = Image.open(path).convert("RGB")
        out = client.run(det.preprocess(img))
        faces = det.postprocess(img, list(out.values()))
        where = client.last["where"]
        detail = f"{client.last['bytes_sent']} bytes sent" if where == "server" else client.last["reason"]
        print(f"{path}: {len(faces)} face(s), {'tail ran on the server' if where == 'server' else 'ran locally'} "
              f"({detail})")
        if args.out:
            draw(img, faces).save(args.out if len(args.images) == 1 else Path(args.out) / f"{Path(path).stem}_split.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
