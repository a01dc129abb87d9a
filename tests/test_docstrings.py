"""Every public function and class of cavitykit documents itself.

Examples in docstrings are there to teach and doctest runs them; what a function computes is asserted by
the tests with known answers under ``tests/``, not by the examples.
"""

import importlib
import inspect
import pkgutil

import cavitykit

# Command-line glue is documented by `cavitykit --help`, not by examples.
NOT_LIBRARY = ("cavitykit.cli",)


def public_objects():
    for info in pkgutil.walk_packages(cavitykit.__path__, "cavitykit."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")[1:]) or name.startswith(NOT_LIBRARY):
            continue
        module = importlib.import_module(name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for attribute in names:
            obj = getattr(module, attribute)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == name:
                yield f"{name}.{attribute}", obj


def test_every_public_function_and_class_has_a_docstring():
    objects = dict(public_objects())
    assert len(objects) > 100  # the walk found the package
    missing = [name for name, obj in objects.items() if not (obj.__doc__ or "").strip()]
    assert missing == []
