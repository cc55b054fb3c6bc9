"""`edgec build`: packages for boards (--target rpi | jetson | mcu)."""
from __future__ import annotations


def cmd_build(args):
    if args.target == "mcu":
        return build_mcu(args)
    if args.target == "jetson":
        if args.arch != "aarch64":
            raise SystemExit("edgec build --target jetson: Jetsons are aarch64 (drop --arch)")
        from .jetson.build import build as build_jetson
        build_jetson(args.output, model=args.model)
        return 0
    from .rpi.build import build
    build(args.arch, args.output, model=args.model)
    return 0


def build_mcu(args):
    from .mcu.boards import parse_size
    from .mcu.project import generate
    if not args.model:
        raise SystemExit("edgec build --target mcu: give the .edgec model to build in")
    info = generate(args.model, args.board, args.output, sram=parse_size(args.sram) if args.sram else None,
                    flash=parse_size(args.flash) if args.flash else None)
    print(f"{args.output}: {args.board} project; model {info['flash_model']} B in flash; SRAM: arena {info['arena']} B "
          f"+ heap {info['heap']} B + stack {info['stack']} B of {info['ram_bytes']} B; ops: {' '.join(info['ops'])}")
    print(f"build: cmake -S {args.output} -B {args.output}/build "
          f"-DCMAKE_TOOLCHAIN_FILE=cmake/{__import__('edgec.targets.mcu.boards', fromlist=['BOARDS']).BOARDS[args.board].toolchain}"
          f" && cmake --build {args.output}/build")
    return 0


def add_parser(sub):
    b = sub.add_parser("build", help="cross-compiled packages for boards (wheel + tarball)")
    b.add_argument("model", nargs="?", help=".edgec model (mcu: required; rpi: optional, put in the tarball)")
    b.add_argument("--target", required=True, choices=["rpi", "jetson", "mcu"])
    b.add_argument("--arch", default="aarch64", choices=["aarch64", "armv7"], help="rpi: CPU architecture (jetson: aarch64)")
    b.add_argument("--board", default="mps2-an386", choices=["mps2-an386", "mps2-an500", "generic-m4", "generic-m7"],
                   help="mcu: board (memories, CPU)")
    b.add_argument("--sram", help="mcu: the chip's SRAM, e.g. 256K (default: the board's)")
    b.add_argument("--flash", help="mcu: the chip's flash, e.g. 1M")
    b.add_argument("-o", "--output", default="dist")
    b.set_defaults(fn=cmd_build)
