"""Recipes, builds, ablations, diff and data card (docs/build.md).

    from distillate.curate.build import build, diff, load_recipe
    result = build(ws, "recipe.yaml", "out/")        # out/ and out/<ablation>/ for each variant
    changes = diff("out/", "out/no_dedup")
"""

from .build import VERSION, BuildResult, build
from .diff import diff, plot_diff, render_diff
from .recipe import ALL_REASONS, EXCLUDE_REASONS, Recipe, load_recipe, parse_recipe
from .select import Selection, select
from .template import check_lengths

__all__ = ["VERSION", "build", "BuildResult", "diff", "render_diff", "plot_diff", "Recipe", "load_recipe",
           "parse_recipe", "ALL_REASONS", "EXCLUDE_REASONS", "select", "Selection", "check_lengths"]
