"""Microcontrollers: `edgec build --target mcu` writes a self-contained Cortex-M C project
(model in flash, static arena, only the model's ops), and `link` talks to the running
image over its UART (a real board's serial port, or QEMU's through a socket)."""
