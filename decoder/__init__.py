"""Torch-free reconstruction (numba CPU and CUDA kernels); filled by the decoder issue."""
