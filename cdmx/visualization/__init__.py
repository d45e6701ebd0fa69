from .labelling_plot import plot_labelling

__all__ = ['plot_labelling']
