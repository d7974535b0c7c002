"""Every layer inside a model, found through public attributes only."""

import keras


def sublayers(layer, include_self=True):
    """All layers in `layer` (models nested in models, layers held by layers).

    Walks `model.layers` of every model and the `keras.layers.Layer` values
    among a layer's public attributes (and lists of them), depth first, each
    layer once; input layers are left out.

    Examples:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> print([type(x).__name__ for x in sublayers(model, include_self=False)])
    ['Dense']
    """
    seen, order = set(), []

    def visit(current):
        if id(current) in seen or isinstance(current, keras.layers.InputLayer):
            return
        seen.add(id(current))
        order.append(current)
        children = list(getattr(current, "layers", None) or [])
        for name, value in vars(current).items():
            if name.startswith("_"):
                continue
            if isinstance(value, keras.layers.Layer):
                children.append(value)
            elif isinstance(value, list | tuple):
                children.extend(v for v in value if isinstance(v, keras.layers.Layer))
        for child in children:
            visit(child)

    visit(layer)
    return order if include_self else order[1:]
