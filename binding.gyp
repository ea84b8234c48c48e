{
  "targets": [
    {
      "target_name": "nsbox",
      "sources": [
        "src-native/addon.cc",
        "src-native/plan_from_js.cc",
        "src-native/spawn.cc",
        "src-native/cgroup.cc",
        "src-native/bpf_devices.cc",
        "src-native/child.cc",
        "src-native/child_mounts.cc",
        "src-native/child_creds.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-fexceptions"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
