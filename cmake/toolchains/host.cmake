# Native build with the system compiler (what `pip install` uses).
set(CMAKE_C_COMPILER cc CACHE STRING "")
