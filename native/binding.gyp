# The tsnas engine: a thin N-API binding over libtorch (ATen + autograd + torch::optim).
# LIBTORCH=/path selects another libtorch distribution (see README.md); default is Debian's libtorch-dev.
{
  "variables": {
    "libtorch%": "<!(node -p \"process.env.LIBTORCH || ''\")"
  },
  "targets": [
    {
      "target_name": "tsnas_native",
      "sources": ["src/addon.cc", "src/alloc.cc", "src/ops.cc", "src/nn_ops.cc", "src/optim.cc", "src/quant.cc", "src/graph.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20", "-O3"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter",
                    "-Wno-deprecated-declarations", "-Wno-missing-field-initializers", "-Wno-unused-variable",
                    "-Wno-cast-function-type", "-Wno-maybe-uninitialized"],
      "conditions": [
        ["libtorch==''", {
          # -fopenmp: at::parallel_for in the addon's own kernels (graph.cc's pooling) runs on
          # libtorch's OpenMP pool only when compiled with OpenMP (ATen/ParallelOpenMP.h); without
          # it, it runs serially. Debian's libtorch uses the system libgomp, so this adds no second
          # OpenMP runtime. (A LIBTORCH distribution may bundle its own libgomp: there the addon's
          # kernels stay serial rather than load two runtimes.)
          "cflags_cc": ["-fopenmp"],
          "ldflags": ["-fopenmp"],
          "include_dirs": ["/usr/include", "/usr/include/torch/csrc/api/include"],
          "libraries": ["-ltorch", "-ltorch_cpu", "-lc10"]
        }, {
          "include_dirs": ["<(libtorch)/include", "<(libtorch)/include/torch/csrc/api/include"],
          "libraries": ["-L<(libtorch)/lib", "-Wl,-rpath,<(libtorch)/lib", "-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10"]
        }]
      ]
    }
  ]
}
