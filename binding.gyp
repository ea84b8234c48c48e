{
  "variables": {
    # 1 builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer
    # (scripts/test-asan.sh). The init helper stays as it is: it is static.
    "sanitize%": 0
  },
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions"]
  },
  "targets": [
    {
      # The container's init before the user's command (src-native/init/child.h).
      # Static, so it runs in any rootfs and from a memfd without a loader.
      "target_name": "nsbox_init",
      "type": "executable",
      "sources": [
        "src-native/init/main.cc",
        "src-native/init/child.cc",
        "src-native/init/child_mounts.cc",
        "src-native/init/child_creds.cc",
        "src-native/init/child_terminal.cc",
        "src-native/init/join.cc",
        "src-native/init/exec.cc"
      ],
      "cflags_cc": ["-O2", "-fno-exceptions"],
      "ldflags": ["-static", "-s"]
    },
    {
      "target_name": "nsbox",
      "dependencies": ["nsbox_init"],
      "sources": [
        "src-native/addon.cc",
        "src-native/plan_from_js.cc",
        "src-native/spawn.cc",
        "src-native/clone_exec.cc",
        "src-native/cgroup.cc",
        "src-native/bpf_devices.cc"
      ],
      "actions": [
        {
          "action_name": "embed_init",
          "inputs": ["<(PRODUCT_DIR)/nsbox_init", "src-native/init/embed.js"],
          "outputs": ["<(INTERMEDIATE_DIR)/init_blob.S"],
          "action": ["node", "src-native/init/embed.js", "<(PRODUCT_DIR)/nsbox_init", "<(INTERMEDIATE_DIR)/init_blob.S"],
          "process_outputs_as_sources": 1
        }
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["-fexceptions"],
      "conditions": [
        ["OS!='linux'", {"type": "none"}],
        ["sanitize==1", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-O1", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
