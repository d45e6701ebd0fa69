# As match_mini-clip-stable-marriage_fashion-mnist-pool.py with the Hungarian matcher (maximum
# total priority, scipy's linear_sum_assignment) in place of the stable marriage of Eq. 12.
#   python tools/gdui/match_labels.py configs/gdui/match_mini-clip-hungarian_fashion-mnist-pool.py
_base_ = ['./match_mini-clip-stable-marriage_fashion-mnist-pool.py']

matcher = dict(_delete_=True, type='HungarianMatcher')
