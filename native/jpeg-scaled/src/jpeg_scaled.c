/*
 * decode(jpeg: Buffer, width: number, height: number): Promise<{ data, width, height, scaleNum,
 * scaleDenom }>
 *
 * Decodes a JPEG with libjpeg-turbo (TurboJPEG API) to packed RGB at the smallest of its DCT-domain
 * scaling factors (n/8 for n = 1..8) whose output still covers width × height, on a libuv worker
 * thread. Anything the fast path does not take as it is — CMYK or YCCK, or any decoder warning
 * (a truncated or corrupt file) — rejects with `code` = 'UNSUPPORTED', so the caller can hand the
 * image to a general decoder that judges it.
 */
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
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
  unsigned char *output;
  int width;
  int height;
  int scale_num;
  int scale_denom;
  const char *code;
  char message[200];
} Job;

static void fail(Job *job, const char *code, const char *message) {
  job->code = code;
  snprintf(job->message, sizeof job->message, "%s", message);
}

/* Picks the scaling factor with the fewest output pixels that still covers the target. */
static int pick_scale(int width, int height, int target_width, int target_height, tjscalingfactor *chosen) {
  int count = 0;
  tjscalingfactor *factors = tjGetScalingFactors(&count);
  if (factors == NULL) return 0;
  long best = -1;
  for (int i = 0; i < count; i++) {
    tjscalingfactor f = factors[i];
    if (f.num > f.denom) continue;
    int w = TJSCALED(width, f);
    int h = TJSCALED(height, f);
    if (w < target_width || h < target_height) continue;
    long pixels = (long)w * (long)h;
    if (best < 0 || pixels < best) {
      best = pixels;
      *chosen = f;
    }
  }
  if (best < 0) {
    /* Smaller than the target: decode at full size; the resize enlarges. */
    chosen->num = 1;
    chosen->denom = 1;
  }
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
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    fail(job, "UNSUPPORTED", "CMYK or YCCK JPEG");
    tjDestroy(handle);
    return;
  }
  tjscalingfactor factor = {1, 1};
  if (!pick_scale(width, height, job->target_width, job->target_height, &factor)) {
    fail(job, "FAILED", "no scaling factors");
    tjDestroy(handle);
    return;
  }
  int out_width = TJSCALED(width, factor);
  int out_height = TJSCALED(height, factor);
  unsigned char *output = malloc((size_t)out_width * (size_t)out_height * 3);
  if (output == NULL) {
    fail(job, "FAILED", "out of memory");
    tjDestroy(handle);
    return;
  }
  if (tjDecompress2(handle, job->input, (unsigned long)job->input_length, output, out_width, 0, out_height, TJPF_RGB, 0) != 0) {
    /* Warnings too (a truncated file decodes with a grey tail): let the general decoder judge. */
    fail(job, "UNSUPPORTED", tjGetErrorStr2(handle));
    free(output);
    tjDestroy(handle);
    return;
  }
  tjDestroy(handle);
  job->output = output;
  job->width = out_width;
  job->height = out_height;
  job->scale_num = factor.num;
  job->scale_denom = factor.denom;
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
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return throw_type_error(env, "decode(jpeg, width, height)");
  bool is_buffer = false;
  napi_is_buffer(env, argv[0], &is_buffer);
  if (!is_buffer) return throw_type_error(env, "jpeg must be a Buffer");
  int32_t target_width = 0, target_height = 0;
  if (napi_get_value_int32(env, argv[1], &target_width) != napi_ok || napi_get_value_int32(env, argv[2], &target_height) != napi_ok || target_width < 1 || target_height < 1) {
    return throw_type_error(env, "width and height must be positive integers");
  }
  Job *job = calloc(1, sizeof(Job));
  if (job == NULL) return throw_type_error(env, "out of memory");
  void *bytes = NULL;
  napi_get_buffer_info(env, argv[0], &bytes, &job->input_length);
  job->input = bytes;
  job->target_width = target_width;
  job->target_height = target_height;
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
