{
  "targets": [
    {
      "target_name": "jpeg_scaled",
      "sources": ["src/jpeg_scaled.c"],
      "libraries": ["-lturbojpeg"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-ffp-contract=off"]
    }
  ]
}
