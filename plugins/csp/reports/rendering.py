"""The reports' old name for the shared templating (csp.templating), kept for one round so branches
that still import it merge cleanly; new code imports csp.templating."""
from csp.templating import TEMPLATES, decimal, environment, missing, percent_change, q_value, render, with_contents

__all__ = ["TEMPLATES", "decimal", "environment", "missing", "percent_change", "q_value", "render", "with_contents"]
