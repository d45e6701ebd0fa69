# The mini world's external pool (10,000 Fashion-MNIST training images no experiment uses), on
# which the stand-in foundation models are pretrained, and the real test split they are
# evaluated on (tools/analysis_tools/eval_foundation.py).
# The Fashion-MNIST folder; the environment variable CDMX_FASHION_MNIST overrides it.
data_root = '{{$CDMX_FASHION_MNIST:/usr/share/datasets/fashion-mnist}}'
external = dict(type='FashionMNIST', data_root=data_root, subset='external',
                external_size=10000, split_seed=0, channels=3)
test_data = dict(type='FashionMNIST', data_root=data_root, subset='test', channels=3)
