# Extra Softmax/LogSoftmax, ReduceMean/Sum/Max, ArgMax, Resize/Upsample cases (every opset form, axes,
# keepdims, dtypes, coordinate modes, sizes above the kernels' parallel threshold) in ONNX node-test
# layout, with onnxruntime's outputs as the expected values.  Needs onnxruntime (build/venv, made by
# scripts/install-deps.sh --test); exits 77 (ctest: skipped) without it.  Cases onyx deliberately computes
# differently from onnxruntime are listed, with the reason, in skips_reduce_cases.txt.
import os, shutil, sys
import numpy as np
try:
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    import onnxruntime as ort
except ImportError as e:
    print(f'skipping: {e} - these cases need onnxruntime as the reference; run scripts/install-deps.sh --test '
          f'or point ONYX_TEST_PYTHON at a python that has it')
    sys.exit(77)

root = sys.argv[1]
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
rng = np.random.default_rng(0)
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
so.intra_op_num_threads = 1  # reproducible sums
names = set()

def case(name, op, opset, x, attrs={}, consts=(), out_dtype=None):
    """consts: (name, array or None) for the inputs after x, as initializers; None: omitted ('')."""
    assert name not in names, name
    names.add(name)
    init, ins = [], ['x']
    for cname, arr in consts:
        ins.append('' if arr is None else cname)
        if arr is not None:
            init.append(numpy_helper.from_array(arr, cname))
    xt = numpy_helper.from_array(x, 'x').data_type
    node = helper.make_node(op, ins, ['y'], **attrs)
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info('x', xt, x.shape)],
                              [helper.make_tensor_value_info('y', out_dtype or xt, None)], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset)])
    model.ir_version = 8 if opset < 19 else 9
    # A case onnxruntime refuses is a bug in this list, not something to drop silently.
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=['CPUExecutionProvider'])
    y = sess.run(None, {'x': x})[0]
    d = f'{root}/test_{name}'
    os.makedirs(d + '/test_data_set_0')
    onnx.save(model, d + '/model.onnx')
    open(d + '/test_data_set_0/input_0.pb', 'wb').write(numpy_helper.from_array(x, 'x').SerializeToString())
    open(d + '/test_data_set_0/output_0.pb', 'wb').write(numpy_helper.from_array(y, 'y').SerializeToString())

f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
i64 = lambda a: np.array(a, dtype=np.int64)
fl = lambda a: np.array(a, dtype=np.float32)
tag = lambda vals: '_'.join(str(v).replace('.', 'p').replace('-', 'm') for v in vals)

# Softmax / LogSoftmax: opset 11 (coerced to 2-D at axis) and 13 (one axis); a long row; a strided
# (non-innermost) axis over more elements than the parallel threshold (32768) with a partial lane block.
for op in ['Softmax', 'LogSoftmax']:
    for opset in [11, 13]:
        for axis in [0, 1, 2, -1, -2]:
            case(f'{op.lower()}_op{opset}_axis{tag([axis])}', op, opset, f32(3, 4, 5) * 5, {'axis': axis})
        case(f'{op.lower()}_op{opset}_default', op, opset, f32(3, 4, 5) * 5)
    case(f'{op.lower()}_1000', op, 13, f32(1, 1000) * 10)
    case(f'{op.lower()}_big_inner', op, 13, f32(2, 32, 20, 30), {'axis': 1})

# Reductions: axes attribute (opset 13; ReduceSum takes an axes input from 13) and axes input (opset 18),
# keepdims, a small shape and one above the parallel threshold, integer dtypes, empty axes.
shapes = [(2, 3, 4, 5), (4, 16, 24, 24)]
for op in ['ReduceMean', 'ReduceSum', 'ReduceMax']:
    for si, shp in enumerate(shapes):
        for axes in [[0, 2], [1, 3], [2, 3], [1], [-1], [0, 1, 2, 3], [0]]:
            for kd in [0, 1]:
                nm = f'{op.lower()}_s{si}_ax{tag(axes)}_kd{kd}'
                case(nm + '_op13', op, 13, f32(*shp), {'keepdims': kd, **({} if op == 'ReduceSum' else {'axes': axes})},
                     consts=[('axes', i64(axes))] if op == 'ReduceSum' else [])
                case(nm + '_op18', op, 18, f32(*shp), {'keepdims': kd}, consts=[('axes', i64(axes))])
    case(f'{op.lower()}_op11_attr', op, 11, f32(3, 4, 5), {'axes': [1], 'keepdims': 0})
    case(f'{op.lower()}_op18_noaxes', op, 18, f32(3, 4, 5), {'keepdims': 0})
    case(f'{op.lower()}_op18_noop', op, 18, f32(3, 4, 5), {'noop_with_empty_axes': 1}, consts=[('axes', i64([]))])
    case(f'{op.lower()}_op18_emptyaxes_all', op, 18, f32(3, 4, 5), {'keepdims': 1}, consts=[('axes', i64([]))])
    for dt in [np.int64, np.int32]:
        xi = rng.integers(-50, 50, (3, 4, 5)).astype(dt)
        case(f'{op.lower()}_{dt.__name__}', op, 18, xi, {'keepdims': 0}, consts=[('axes', i64([1]))])
        case(f'{op.lower()}_{dt.__name__}_all', op, 13, xi, {'keepdims': 1},
             consts=[('axes', None)] if op == 'ReduceSum' else [])

# ArgMax over data with many ties: first and last index, every axis, keepdims.
for dt in [np.float32, np.int32, np.int64]:
    xa = rng.integers(0, 4, (3, 4, 5)).astype(dt)
    for axis in [0, 1, 2, -1]:
        for last in [0, 1]:
            for kd in [0, 1]:
                case(f'argmax_{dt.__name__}_ax{tag([axis])}_last{last}_kd{kd}', 'ArgMax', 13, xa,
                     {'axis': axis, 'select_last_index': last, 'keepdims': kd}, out_dtype=TensorProto.INT64)

# Resize opset 10 and Upsample 7/9.
img = f32(1, 3, 7, 9)
for mode in ['nearest', 'linear']:
    for sc in [[1, 1, 2, 2], [1, 1, 0.5, 0.5], [1, 1, 1.7, 0.6]]:
        case(f'resize10_{mode}_{tag(sc[2:])}', 'Resize', 10, img, {'mode': mode}, consts=[('scales', fl(sc))])
    case(f'upsample9_{mode}', 'Upsample', 9, img, {'mode': mode}, consts=[('scales', fl([1, 1, 2, 3]))])
    case(f'upsample7_{mode}', 'Upsample', 7, img, {'mode': mode, 'scales': [1.0, 1.0, 2.0, 2.5]})

# Resize 11/13/18/19: every mode x coordinate transformation x nearest rounding, with integer, fractional
# and mixed scales and with sizes (1x1 output included); opset 11 passes empty roi/scales, later ones omit them.
ctms = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn']
nmodes = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']
for opset in [11, 13, 18, 19]:
    empty = (lambda a: fl(a)) if opset < 13 else (lambda a: None)
    for mode in ['nearest', 'linear', 'cubic']:
        for ctm in ctms + (['half_pixel_symmetric'] if opset >= 19 else []):
            if ctm == 'tf_half_pixel_for_nn' and (mode != 'nearest' or opset >= 13):
                continue
            for kind, val in [('scales', [1, 1, 2, 2]), ('scales', [1, 1, 0.6, 1.5]), ('sizes', [1, 3, 4, 17]),
                              ('sizes', [1, 3, 1, 1]), ('scales', [1, 1, 3.0, 0.5])]:
                for nmode in nmodes if mode == 'nearest' else ['x']:
                    attrs = {'mode': mode, 'coordinate_transformation_mode': ctm}
                    if mode == 'nearest':
                        attrs['nearest_mode'] = nmode
                    consts = [('roi', empty([])), ('scales', fl(val) if kind == 'scales' else empty([]))]
                    if kind == 'sizes':
                        consts.append(('sizes', i64(val)))
                    case(f'resize{opset}_{mode}_{ctm}_{nmode}_{kind}_{tag(val[2:])}', 'Resize', opset, img, attrs, consts)
    for ex in [0, 1]:
        case(f'resize{opset}_cubic_a05_ex{ex}', 'Resize', opset, img,
             {'mode': 'cubic', 'cubic_coeff_a': -0.5, 'exclude_outside': ex},
             consts=[('roi', empty([])), ('scales', fl([1, 1, 0.7, 2.3]))])
    for mode in ['nearest', 'linear', 'cubic']:
        case(f'resize{opset}_tfcrop_{mode}', 'Resize', opset, img,
             {'mode': mode, 'coordinate_transformation_mode': 'tf_crop_and_resize', 'extrapolation_value': 3.0},
             consts=[('roi', fl([0, 0, -0.2, 0.3, 1, 1, 0.8, 1.4])), ('scales', empty([])), ('sizes', i64([1, 3, 5, 6]))])
# Opset 18: axes (also reordered) and keep_aspect_ratio_policy.
for pol in ['stretch', 'not_larger', 'not_smaller']:
    for mode in ['nearest', 'linear']:
        case(f'resize18_axes_{pol}_{mode}', 'Resize', 18, img, {'mode': mode, 'axes': [2, 3], 'keep_aspect_ratio_policy': pol},
             consts=[('roi', None), ('scales', None), ('sizes', i64([10, 12]))])
        case(f'resize18_negaxes_{pol}_{mode}', 'Resize', 18, img, {'mode': mode, 'axes': [3, 2], 'keep_aspect_ratio_policy': pol},
             consts=[('roi', None), ('scales', None), ('sizes', i64([5, 20]))])
case('resize18_axes_scales', 'Resize', 18, img, {'mode': 'linear', 'axes': [3]}, consts=[('roi', None), ('scales', fl([1.5]))])
# Other dtypes for nearest (onnxruntime has no int64 Resize); 5-D and all-dims linear; YOLO-style 2x upsampling above the parallel threshold.
case('resize13_nearest_u8', 'Resize', 13, rng.integers(0, 255, (1, 2, 5, 6)).astype(np.uint8), {'mode': 'nearest'},
     consts=[('roi', None), ('scales', fl([1, 1, 2, 1.5]))])
case('resize13_nearest_i32', 'Resize', 13, rng.integers(-9, 9, (1, 2, 5, 6)).astype(np.int32), {'mode': 'nearest'},
     consts=[('roi', None), ('scales', fl([1, 1, 0.5, 2]))])
case('resize13_linear_5d', 'Resize', 13, f32(1, 2, 3, 4, 5), {'mode': 'linear'},
     consts=[('roi', None), ('scales', fl([1, 1, 2, 1.5, 0.8]))])
case('resize13_linear_1d_all', 'Resize', 13, f32(2, 6), {'mode': 'linear'}, consts=[('roi', None), ('scales', fl([1.5, 2]))])
case('resize13_yolo_nearest', 'Resize', 13, f32(1, 32, 40, 40),
     {'mode': 'nearest', 'coordinate_transformation_mode': 'asymmetric', 'nearest_mode': 'floor'},
     consts=[('roi', None), ('scales', fl([1, 1, 2, 2]))])
case('resize13_yolo_linear', 'Resize', 13, f32(1, 32, 40, 40), {'mode': 'linear'}, consts=[('roi', None), ('scales', fl([1, 1, 2, 2]))])
print(f'{len(names)} cases in {root}')
