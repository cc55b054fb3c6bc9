"""Deployment targets: cross-compiled packages for Raspberry Pi / Jetson boards (rpi/),
and the shared pieces they use: CMake cross builds (crossbuild), wheels (wheel) and ELF
symbol-version checks (elf)."""
