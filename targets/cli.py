"""`edgec build`: packages for boards (--target rpi; the MCU and Jetson targets are
separate issues and say so)."""
from __future__ import annotations


def cmd_build(args):
    if args.target != "rpi":
        raise SystemExit(f"edgec build --target {args.target}: not part of this version yet (rpi is; "
                         "a Jetson runs the rpi --arch aarch64 package on its CPU)")
    from .rpi.build import build
    build(args.arch, args.output, model=args.model)
    return 0


def add_parser(sub):
    b = sub.add_parser("build", help="cross-compiled packages for boards (wheel + tarball)")
    b.add_argument("model", nargs="?", help="optional .edgec to put in the tarball")
    b.add_argument("--target", required=True, choices=["rpi", "jetson", "mcu"])
    b.add_argument("--arch", default="aarch64", choices=["aarch64", "armv7"])
    b.add_argument("-o", "--output", default="dist")
    b.set_defaults(fn=cmd_build)
