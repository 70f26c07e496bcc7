# Builds the preload shim (native/) as a plain shared library: build/Release/libkinject.so.
# It is not a Node addon; node-gyp is only the build driver.
{
  "targets": [
    {
      "target_name": "kinject",
      "product_prefix": "lib",
      "type": "shared_library",
      "product_extension": "so",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native').filter(f => f.endsWith('.c')).map(f => 'native/' + f).join(' ')\")"
      ],
      "defines": ["KINJECT_VERSION=\"<!(node -p \"require('./package.json').version\")\""],
      "cflags": ["-std=gnu11", "-O2", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-fno-exceptions"],
      "libraries": ["-ldl", "-lpthread"],
      "ldflags": ["-Wl,-z,defs"]
    }
  ]
}
