/*
 * decode(jpeg: Buffer, width, height, fit, maxPixels, features): Promise<{ data, width, height,
 * scaleNum, scaleDenom, sourceWidth, sourceHeight, features? }>
 *
 * On a libuv worker thread: reads the JPEG's header, decodes it with libjpeg-turbo (TurboJPEG API)
 * to packed RGB at the smallest of the DCT-domain scales 1/8, 1/4, 1/2, 1 that still covers the
 * target (Pillow's `draft` rule), then, when `width` and `height` are given (not 0), resamples it to
 * exactly width × height with an antialiased bilinear filter (the triangle filter widened by the
 * reduction, as Pillow's BILINEAR): `fit` 0 stretches the whole image (fill), 1 takes the centred
 * box of the target's aspect ratio (cover). With `features`, the drift features of the output
 * (brightness, contrast, sharpness, saturation) are computed there too, off the main thread.
 *
 * Inputs are untrusted: every length read from the file is bounds-checked, and an image over
 * `maxPixels` is refused from its header (code TOO_MANY_PIXELS) before anything is allocated.
 * What this path does not take as it is — an EXIF rotation, an ICC profile, CMYK or YCCK, any
 * decoder warning (a truncated or corrupt file) — rejects with code UNSUPPORTED, so that the
 * caller hands the image to a general decoder that judges it.
 */
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <turbojpeg.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;
  const unsigned char *input;
  size_t input_length;
  int target_width;
  int target_height;
  int resize;
  int cover;
  double max_pixels;
  unsigned char *output;
  int width;
  int height;
  int scale_num;
  int scale_denom;
  int source_width;
  int source_height;
  int features;
  double brightness;
  double contrast;
  double sharpness;
  double saturation;
  const char *code;
  char message[200];
} Job;

static void fail(Job *job, const char *code, const char *message) {
  job->code = code;
  snprintf(job->message, sizeof job->message, "%s", message);
}

/* The largest of 1/8, 1/4, 1/2 by which the image can shrink and still cover the target (Pillow's `draft`). */
static int draft_denominator(int width, int height, int target_width, int target_height) {
  static const int denominators[] = {8, 4, 2};
  for (int i = 0; i < 3; i++) {
    int d = denominators[i];
    if ((double)width >= (double)d * target_width && (double)height >= (double)d * target_height) return d;
  }
  return 1;
}

/* Reads a big- or little-endian 16- or 32-bit value. */
static unsigned read16(const unsigned char *p, int big) { return big ? (unsigned)(p[0] << 8 | p[1]) : (unsigned)(p[1] << 8 | p[0]); }
static unsigned long read32(const unsigned char *p, int big) {
  return big ? ((unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3])
             : ((unsigned long)p[3] << 24 | (unsigned long)p[2] << 16 | (unsigned long)p[1] << 8 | p[0]);
}

/* The EXIF orientation in an APP1 payload (1 when absent or unreadable). */
static int exif_orientation(const unsigned char *p, size_t n) {
  if (n < 14 || memcmp(p, "Exif\0\0", 6) != 0) return 1;
  const unsigned char *tiff = p + 6;
  size_t size = n - 6;
  int big;
  if (tiff[0] == 'M' && tiff[1] == 'M') big = 1;
  else if (tiff[0] == 'I' && tiff[1] == 'I') big = 0;
  else return 1;
  if (read16(tiff + 2, big) != 42) return 1;
  unsigned long ifd = read32(tiff + 4, big);
  if (ifd > size - 2) return 1;
  unsigned entries = read16(tiff + ifd, big);
  for (unsigned i = 0; i < entries; i++) {
    unsigned long at = ifd + 2 + 12ul * i;
    if (at + 12 > size) return 1;
    if (read16(tiff + at, big) == 0x0112) return (int)read16(tiff + at + 8, big);
  }
  return 1;
}

/* Scans the markers before the image data for an EXIF orientation and an ICC profile. */
static void scan_markers(const unsigned char *p, size_t n, int *orientation, int *has_icc) {
  *orientation = 1;
  *has_icc = 0;
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) return;
    unsigned char marker = p[i + 1];
    if (marker == 0xFF) { i += 1; continue; }
    if (marker == 0xDA || marker == 0xD9) return;
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { i += 2; continue; }
    size_t length = (size_t)p[i + 2] << 8 | p[i + 3];
    if (length < 2 || i + 2 + length > n) return;
    const unsigned char *payload = p + i + 4;
    size_t size = length - 2;
    if (marker == 0xE1 && *orientation == 1) *orientation = exif_orientation(payload, size);
    if (marker == 0xE2 && size >= 12 && memcmp(payload, "ICC_PROFILE\0", 12) == 0) *has_icc = 1;
    i += 2 + length;
  }
}

#define PRECISION_BITS (32 - 8 - 2)

/* One axis of an antialiased bilinear resample: for each output position, its first input index, its tap count and fixed-point weights. */
typedef struct {
  int *first;
  int *count;
  int *weights;
  int taps;
} Axis;

static void axis_free(Axis *a) {
  free(a->first);
  free(a->count);
  free(a->weights);
}

static int axis_init(Axis *a, int in_size, double in0, double in1, int out_size) {
  double scale = (in1 - in0) / out_size;
  double filter_scale = scale < 1.0 ? 1.0 : scale;
  double support = 1.0 * filter_scale;
  a->taps = (int)ceil(support) * 2 + 1;
  a->first = malloc(sizeof(int) * (size_t)out_size);
  a->count = malloc(sizeof(int) * (size_t)out_size);
  a->weights = malloc(sizeof(int) * (size_t)out_size * (size_t)a->taps);
  double *w = malloc(sizeof(double) * (size_t)a->taps);
  if (a->first == NULL || a->count == NULL || a->weights == NULL || w == NULL) {
    free(w);
    axis_free(a);
    return 0;
  }
  for (int o = 0; o < out_size; o++) {
    double center = in0 + (o + 0.5) * scale;
    int lo = (int)(center - support + 0.5);
    int hi = (int)(center + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in_size) hi = in_size;
    int count = hi - lo;
    if (count > a->taps) count = a->taps;
    double total = 0.0;
    for (int k = 0; k < count; k++) {
      double x = (k + lo - center + 0.5) / filter_scale;
      if (x < 0) x = -x;
      w[k] = x < 1.0 ? 1.0 - x : 0.0;
      total += w[k];
    }
    a->first[o] = lo;
    a->count[o] = count;
    for (int k = 0; k < a->taps; k++) {
      double v = k < count && total != 0.0 ? w[k] / total : 0.0;
      a->weights[o * a->taps + k] = (int)(v * (1 << PRECISION_BITS) + (v < 0 ? -0.5 : 0.5));
    }
  }
  free(w);
  return 1;
}

static unsigned char clip8(long long v) {
  v >>= PRECISION_BITS;
  return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Resamples the box (x0, y0)–(x1, y1) of an RGB image to out_width × out_height: horizontal pass over the rows the vertical pass reads, then vertical. */
static int resample(const unsigned char *in, int in_width, int in_height, double x0, double y0, double x1, double y1,
                    unsigned char *out, int out_width, int out_height) {
  Axis h, v;
  if (!axis_init(&h, in_width, x0, x1, out_width)) return 0;
  if (!axis_init(&v, in_height, y0, y1, out_height)) {
    axis_free(&h);
    return 0;
  }
  int row_first = v.first[0];
  int row_last = v.first[out_height - 1] + v.count[out_height - 1];
  int rows = row_last - row_first;
  unsigned char *mid = malloc((size_t)rows * (size_t)out_width * 3);
  if (mid == NULL) {
    axis_free(&h);
    axis_free(&v);
    return 0;
  }
  for (int y = 0; y < rows; y++) {
    const unsigned char *src = in + (size_t)(y + row_first) * (size_t)in_width * 3;
    unsigned char *dst = mid + (size_t)y * (size_t)out_width * 3;
    for (int x = 0; x < out_width; x++) {
      const int *k = h.weights + x * h.taps;
      long long r = 1 << (PRECISION_BITS - 1), g = r, b = r;
      const unsigned char *s0 = src + (size_t)h.first[x] * 3;
      for (int t = 0; t < h.count[x]; t++) {
        r += (long long)s0[t * 3] * k[t];
        g += (long long)s0[t * 3 + 1] * k[t];
        b += (long long)s0[t * 3 + 2] * k[t];
      }
      dst[x * 3] = clip8(r);
      dst[x * 3 + 1] = clip8(g);
      dst[x * 3 + 2] = clip8(b);
    }
  }
  for (int y = 0; y < out_height; y++) {
    const int *k = v.weights + y * v.taps;
    int first = v.first[y] - row_first;
    unsigned char *dst = out + (size_t)y * (size_t)out_width * 3;
    for (int x = 0; x < out_width * 3; x++) {
      long long acc = 1 << (PRECISION_BITS - 1);
      for (int t = 0; t < v.count[y]; t++) acc += (long long)mid[(size_t)(first + t) * (size_t)out_width * 3 + (size_t)x] * k[t];
      dst[x] = clip8(acc);
    }
  }
  free(mid);
  axis_free(&h);
  axis_free(&v);
  return 1;
}

/*
 * The drift features of the output, exactly as src/images/image-features.ts computes them (the same
 * integer lumas, the same sums in the same order in doubles; built with -ffp-contract=off so no
 * fused multiply-add changes a rounding): brightness, contrast, sharpness (variance of the
 * 4-neighbour Laplacian of luma over interior pixels) and saturation.
 */
static int compute_features(Job *job, const unsigned char *data, int width, int height) {
  const double luma_scale = 255000.0;
  double *ring = malloc(sizeof(double) * 3 * (size_t)width);
  if (ring == NULL) return 0;
  double sum = 0, sum_sq = 0, lap_sum = 0, lap_sum_sq = 0, sat_sum = 0;
  size_t i = 0;
  for (int y = 0; y < height; y++) {
    size_t row = (size_t)(y % 3) * width;
    size_t up = (size_t)((y + 1) % 3) * width;
    size_t mid = (size_t)((y + 2) % 3) * width;
    int laplacian = y >= 2;
    for (int x = 0; x < width; x++, i += 3) {
      int r = data[i], g = data[i + 1], b = data[i + 2];
      double luma = (double)(299 * r + 587 * g + 114 * b);
      int max = r > g ? (r > b ? r : b) : (g > b ? g : b);
      if (max > 0) {
        int min = r < g ? (r < b ? r : b) : (g < b ? g : b);
        sat_sum += (double)(max - min) / (double)max;
      }
      ring[row + x] = luma;
      sum += luma;
      sum_sq += luma * luma;
      if (laplacian && x >= 2) {
        size_t c = mid + x - 1;
        double lap = 4 * ring[c] - ring[c - 1] - ring[c + 1] - ring[up + x - 1] - ring[row + x - 1];
        lap_sum += lap;
        lap_sum_sq += lap * lap;
      }
    }
  }
  free(ring);
  double n = (double)width * height;
  double mean = sum / n;
  double variance = sum_sq / n - mean * mean;
  if (variance < 0) variance = 0;
  double interior = width >= 3 && height >= 3 ? (double)(width - 2) * (height - 2) : 0;
  double lap_variance = 0;
  if (interior > 0) {
    double lap_mean = lap_sum / interior;
    lap_variance = lap_sum_sq / interior - lap_mean * lap_mean;
    if (lap_variance < 0) lap_variance = 0;
  }
  job->brightness = mean / luma_scale;
  job->contrast = sqrt(variance) / luma_scale;
  job->sharpness = lap_variance / (luma_scale * luma_scale);
  job->saturation = sat_sum / n;
  return 1;
}

static void execute(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  tjhandle handle = tjInitDecompress();
  if (handle == NULL) {
    fail(job, "FAILED", tjGetErrorStr2(NULL));
    return;
  }
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle, job->input, (unsigned long)job->input_length, &width, &height, &subsampling, &colorspace) != 0) {
    fail(job, "UNSUPPORTED", tjGetErrorStr2(handle));
    tjDestroy(handle);
    return;
  }
  job->source_width = width;
  job->source_height = height;
  if ((double)width * (double)height > job->max_pixels) {
    fail(job, "TOO_MANY_PIXELS", "image is larger than maxPixels");
    tjDestroy(handle);
    return;
  }
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    fail(job, "UNSUPPORTED", "CMYK or YCCK JPEG");
    tjDestroy(handle);
    return;
  }
  int orientation, has_icc;
  scan_markers(job->input, job->input_length, &orientation, &has_icc);
  if (orientation != 1 || has_icc) {
    fail(job, "UNSUPPORTED", "EXIF rotation or ICC profile");
    tjDestroy(handle);
    return;
  }
  int denominator = draft_denominator(width, height, job->target_width, job->target_height);
  tjscalingfactor factor = {1, denominator};
  int scaled_width = TJSCALED(width, factor);
  int scaled_height = TJSCALED(height, factor);
  unsigned char *scaled = malloc((size_t)scaled_width * (size_t)scaled_height * 3);
  if (scaled == NULL) {
    fail(job, "FAILED", "out of memory");
    tjDestroy(handle);
    return;
  }
  if (tjDecompress2(handle, job->input, (unsigned long)job->input_length, scaled, scaled_width, 0, scaled_height, TJPF_RGB, 0) != 0) {
    /* Warnings too (a truncated file decodes with a grey tail): let the general decoder judge. */
    fail(job, "UNSUPPORTED", tjGetErrorStr2(handle));
    free(scaled);
    tjDestroy(handle);
    return;
  }
  tjDestroy(handle);
  job->scale_num = 1;
  job->scale_denom = denominator;
  if (!job->resize) {
    job->output = scaled;
    job->width = scaled_width;
    job->height = scaled_height;
    return;
  }
  /* The region of the decoded image that becomes the output: all of it (fill), or the centred box of the target's aspect (cover). */
  double bx0 = 0, by0 = 0, bx1 = scaled_width, by1 = scaled_height;
  if (job->cover) {
    double target = (double)job->target_width / job->target_height;
    if ((double)scaled_width / scaled_height >= target) {
      double w = scaled_height * target;
      bx0 = (scaled_width - w) * 0.5;
      bx1 = bx0 + w;
    } else {
      double h = scaled_width / target;
      by0 = (scaled_height - h) * 0.5;
      by1 = by0 + h;
    }
  }
  unsigned char *output = malloc((size_t)job->target_width * (size_t)job->target_height * 3);
  if (output == NULL || !resample(scaled, scaled_width, scaled_height, bx0, by0, bx1, by1, output, job->target_width, job->target_height)) {
    free(output);
    free(scaled);
    fail(job, "FAILED", "out of memory");
    return;
  }
  free(scaled);
  if (job->features && !compute_features(job, output, job->target_width, job->target_height)) {
    free(output);
    fail(job, "FAILED", "out of memory");
    return;
  }
  job->output = output;
  job->width = job->target_width;
  job->height = job->target_height;
}

static void free_output(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void set_int(napi_env env, napi_value object, const char *name, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  napi_set_named_property(env, object, name, v);
}

static void complete(napi_env env, napi_status status, void *data) {
  Job *job = data;
  if (status != napi_ok && job->code == NULL) fail(job, "FAILED", "the decode did not run");
  if (job->code != NULL) {
    napi_value message, code, error;
    napi_create_string_utf8(env, job->message, NAPI_AUTO_LENGTH, &message);
    napi_create_string_utf8(env, job->code, NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, message, &error);
    napi_set_named_property(env, error, "code", code);
    napi_reject_deferred(env, job->deferred, error);
  } else {
    napi_value result, buffer;
    size_t length = (size_t)job->width * (size_t)job->height * 3;
    if (napi_create_external_buffer(env, length, job->output, free_output, NULL, &buffer) != napi_ok) {
      /* Runtimes that refuse external buffers: copy instead. */
      void *copy = NULL;
      napi_create_buffer_copy(env, length, job->output, &copy, &buffer);
      free(job->output);
    }
    napi_create_object(env, &result);
    napi_set_named_property(env, result, "data", buffer);
    set_int(env, result, "width", job->width);
    set_int(env, result, "height", job->height);
    set_int(env, result, "scaleNum", job->scale_num);
    set_int(env, result, "scaleDenom", job->scale_denom);
    set_int(env, result, "sourceWidth", job->source_width);
    set_int(env, result, "sourceHeight", job->source_height);
    if (job->features) {
      napi_value features, v;
      napi_create_object(env, &features);
      napi_create_double(env, job->brightness, &v);
      napi_set_named_property(env, features, "brightness", v);
      napi_create_double(env, job->contrast, &v);
      napi_set_named_property(env, features, "contrast", v);
      napi_create_double(env, job->sharpness, &v);
      napi_set_named_property(env, features, "sharpness", v);
      napi_create_double(env, job->saturation, &v);
      napi_set_named_property(env, features, "saturation", v);
      napi_set_named_property(env, result, "features", features);
    }
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return throw_type_error(env, "decode(jpeg, width, height, fit, maxPixels, features)");
  bool is_buffer = false;
  napi_is_buffer(env, argv[0], &is_buffer);
  if (!is_buffer) return throw_type_error(env, "jpeg must be a Buffer");
  int32_t target_width = 0, target_height = 0, fit = 0;
  double max_pixels = 0;
  if (napi_get_value_int32(env, argv[1], &target_width) != napi_ok || napi_get_value_int32(env, argv[2], &target_height) != napi_ok || target_width < 1 ||
      target_height < 1 || target_width > 65535 || target_height > 65535) {
    return throw_type_error(env, "width and height must be integers from 1 to 65535");
  }
  if (napi_get_value_int32(env, argv[3], &fit) != napi_ok || fit < -1 || fit > 1) return throw_type_error(env, "fit must be -1 (no resize), 0 (fill) or 1 (cover)");
  if (napi_get_value_double(env, argv[4], &max_pixels) != napi_ok || !(max_pixels >= 1)) return throw_type_error(env, "maxPixels must be a positive number");
  bool features = false;
  if (napi_get_value_bool(env, argv[5], &features) != napi_ok) return throw_type_error(env, "features must be a boolean");
  Job *job = calloc(1, sizeof(Job));
  if (job == NULL) return throw_type_error(env, "out of memory");
  void *bytes = NULL;
  napi_get_buffer_info(env, argv[0], &bytes, &job->input_length);
  job->input = bytes;
  job->target_width = target_width;
  job->target_height = target_height;
  job->resize = fit >= 0;
  job->cover = fit == 1;
  job->max_pixels = max_pixels;
  job->features = features && fit >= 0;
  napi_create_reference(env, argv[0], 1, &job->input_ref);
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "jpeg-scaled-decode", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "decode", NAPI_AUTO_LENGTH, decode, NULL, &fn);
  napi_set_named_property(env, exports, "decode", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
