/* A program outside the onyx tree: uses only the installed onyx.h and library.
 * Loads a model and prints its inputs and outputs. */
#include <stdio.h>

#include <onyx.h>

static void print_tensor(const char *kind, const onyx_tensor_info *t)
{
  printf("%s %s %s [", kind, t->name, onyx_dtype_name(t->dtype));
  for (int d = 0; d < t->ndim; d++) {
    if (d) printf(",");
    if (t->dim_params[d]) printf("%s", t->dim_params[d]);
    else printf("%lld", (long long)t->dims[d]);
  }
  printf("]\n");
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: consumer MODEL.onnx\n");
    return 2;
  }
  printf("onyx %s\n", onyx_version_string());
  onyx_model *m = NULL;
  if (onyx_model_load(argv[1], &m) != ONYX_OK) {
    fprintf(stderr, "consumer: %s\n", onyx_last_error());
    return 1;
  }
  onyx_tensor_info info;
  for (int i = 0; i < onyx_model_num_inputs(m); i++)
    if (onyx_model_input(m, i, &info) == ONYX_OK) print_tensor("input", &info);
  for (int i = 0; i < onyx_model_num_outputs(m); i++)
    if (onyx_model_output(m, i, &info) == ONYX_OK) print_tensor("output", &info);
  onyx_model_free(m);
  return 0;
}
