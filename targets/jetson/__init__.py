"""`edgec build --target jetson`: the aarch64 package plus the CUDA backend."""
