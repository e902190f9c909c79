# Malformed Resize/Upsample, reduction, Softmax and ArgMax uses: each must be refused with a message
# (run with --expect-fail).
import numpy as np, onnx, os, shutil
from onnx import helper as h, numpy_helper as nh
import sys
root = sys.argv[1]
shutil.rmtree(root, ignore_errors=True)
x = np.zeros((1, 1, 4, 4), np.float32)
def case(name, op, opset, inits, attrs, xin=x):
    # inits: (name, array) constant inputs after x, in order; ('', None) leaves an optional input out
    node = h.make_node(op, ['x'] + [n for n, _ in inits], ['y'], **attrs)
    g = h.make_graph([node], name, [h.make_tensor_value_info('x', nh.from_array(xin).data_type, xin.shape)],
                     [h.make_tensor_value_info('y', 1, None)], initializer=[nh.from_array(a, n) for n, a in inits if n])
    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)]); m.ir_version = 8
    d = f'{root}/test_{name}'; os.makedirs(d + '/test_data_set_0')
    onnx.save(m, d + '/model.onnx')
    open(f'{d}/test_data_set_0/input_0.pb', 'wb').write(nh.from_array(xin, 'x').SerializeToString())
    # No expected output: a case onyx runs to the end counts as accepted (the driver's failure), whatever it computes.
F = lambda *v: np.array(v, np.float32)
I = lambda *v: np.array(v, np.int64)
roi = ('roi', F())
case('resize_scales_and_sizes', 'Resize', 13, [roi, ('scales', F(1, 1, 2, 2)), ('sizes', I(1, 1, 8, 8))], {})
case('resize_neither', 'Resize', 13, [roi, ('scales', F())], {})
case('resize_zero_scale', 'Resize', 13, [roi, ('scales', F(1, 1, 0, 2))], {})
case('resize_huge_scale', 'Resize', 13, [roi, ('scales', F(1, 1, 1e30, 2))], {})
case('resize_scales_count', 'Resize', 13, [roi, ('scales', F(2, 2))], {})
case('resize_bad_mode', 'Resize', 13, [roi, ('scales', F(1, 1, 2, 2))], {'mode': 'area'})
case('resize_bad_ctm', 'Resize', 13, [roi, ('scales', F(1, 1, 2, 2))], {'coordinate_transformation_mode': 'xx'})
case('resize_antialias', 'Resize', 18, [roi, ('scales', F(1, 1, 0.5, 0.5))], {'mode': 'linear', 'antialias': 1})
case('resize_axes_oob', 'Resize', 18, [roi, ('scales', F(2))], {'axes': [4]})
case('resize_axes_dup', 'Resize', 18, [roi, ('scales', F(2, 2))], {'axes': [3, -1]})
case('resize_tfcrop_no_roi', 'Resize', 13, [roi, ('scales', F(1, 1, 2, 2))], {'coordinate_transformation_mode': 'tf_crop_and_resize'})
case('resize_sizes_negative', 'Resize', 13, [roi, ('scales', F()), ('sizes', I(1, 1, -2, 2))], {})
case('resize_half_pixel_symmetric_v18', 'Resize', 18, [roi, ('scales', F(1, 1, 2, 2))],
     {'coordinate_transformation_mode': 'half_pixel_symmetric'})
case('upsample_downscale', 'Upsample', 9, [('scales', F(1, 1, 0.5, 1))], {})
case('upsample7_no_scales', 'Upsample', 7, [], {})
case('reducemean_dup_axes', 'ReduceMean', 13, [], {'axes': [1, -3]})
case('reducemax_axes_oob', 'ReduceMax', 13, [], {'axes': [7]})
case('reducesum_axes_attr_v13', 'ReduceSum', 13, [], {'axes': [1]})
case('softmax_axis_oob', 'Softmax', 13, [], {'axis': 4})
case('argmax_axis_oob', 'ArgMax', 13, [], {'axis': -5})
# Unsupported input dtypes, wrong constant-input types and counts, unknown attribute strings.
case('softmax_int32', 'Softmax', 13, [], {}, xin=np.zeros((2, 3), np.int32))
case('reducemean_bool', 'ReduceMean', 13, [], {}, xin=np.zeros((2, 3), bool))
case('resize_nan_scale', 'Resize', 13, [roi, ('scales', F(1, 1, np.nan, 2))], {})
case('resize_bad_policy', 'Resize', 18, [roi, ('', None), ('sizes', I(1, 1, 8, 8))], {'keep_aspect_ratio_policy': 'fit'})
case('resize_bad_nearest_mode', 'Resize', 13, [roi, ('scales', F(1, 1, 2, 2))], {'nearest_mode': 'up'})
case('resize_sizes_axes_count', 'Resize', 18, [roi, ('', None), ('sizes', I(8, 8, 8))], {'axes': [2, 3]})
case('resize10_scales_count', 'Resize', 10, [('scales', F(2, 2))], {})
case('upsample_bad_mode', 'Upsample', 9, [('scales', F(1, 1, 2, 2))], {'mode': 'cubic'})
case('resize_cubic_u8', 'Resize', 13, [roi, ('scales', F(1, 1, 2, 2))], {'mode': 'cubic'}, xin=np.zeros((1, 1, 4, 4), np.uint8))
case('resize_tfcrop_roi_short', 'Resize', 13, [('roi', F(0, 0, 1, 1)), ('', None), ('sizes', I(1, 1, 8, 8))], {'coordinate_transformation_mode': 'tf_crop_and_resize'})
case('reducesum_axes_float', 'ReduceSum', 13, [('axes', F(1))], {})
case('resize_scales_int', 'Resize', 13, [roi, ('scales', I(1, 1, 2, 2))], {})
case('softmax_v11_axis_oob', 'Softmax', 11, [], {'axis': -5})
