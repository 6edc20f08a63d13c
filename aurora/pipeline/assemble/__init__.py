"""The assembler: the image's copy layers written by aurora itself, deterministically and keyed by
their inputs, on top of the layers only a build engine can make (the runtime base, the jlink
runtime, the web layer). ``[build] assembler = "direct"`` or ``aurora build --assemble``."""
