from .labelling_plot import plot_labelling
from .seeds_plot import plot_seeds

__all__ = ['plot_labelling', 'plot_seeds']
