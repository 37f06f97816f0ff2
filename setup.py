"""Build switches for the C extension ``rugo._footer``.

Environment variables:
  RUGO_DEBUG=1      -O0 -g, assertions on
  RUGO_SANITIZE=1   AddressSanitizer + UndefinedBehaviorSanitizer (implies RUGO_DEBUG);
                    run Python with LD_PRELOAD=$(gcc -print-file-name=libasan.so), and
                    preload libstdc++ too when pyarrow is imported (its C++ exceptions
                    otherwise trip an ASan check):
                    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
"""
import os
from glob import glob

from setuptools import Extension, setup

debug = os.environ.get("RUGO_DEBUG") == "1"
sanitize = os.environ.get("RUGO_SANITIZE") == "1"

compile_args = ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
link_args = []
macros = []
if sanitize or debug:
    compile_args += ["-O0", "-g", "-UNDEBUG"]
else:
    compile_args += ["-O3"]
    macros.append(("NDEBUG", "1"))
if sanitize:
    flags = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    compile_args += flags
    link_args += flags

setup(
    ext_modules=[
        Extension(
            "rugo._footer",
            sources=sorted(glob("rugo/_ext/*.c")),
            depends=sorted(glob("rugo/_ext/*.h")),
            include_dirs=["rugo/_ext"],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
            define_macros=macros,
        )
    ]
)
