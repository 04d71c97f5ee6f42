{
  "targets": [
    {
      "target_name": "headend_udp",
      "sources": ["udp.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "headend_sched",
      "sources": ["sched.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
