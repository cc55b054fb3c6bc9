"""Raspberry Pi (and Jetson CPU) packages: `edgec build --target rpi`."""
