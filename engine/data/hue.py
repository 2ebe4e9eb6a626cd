"""The hue circle's constants, shared by the torch hue rotation (transforms) and its compiled
loop (kernel_loops) without either importing the other."""

# HSV's channel n (5, 3, 1 for r, g, b) reaches its maximum at hue 2 - n (mod 6): 3, 5, 1
CENTRES = (3.0, 5.0, 1.0)
