"""The inspector panes: one widget per aspect of the selected exchange.

Each pane has ``show_exchange(exchange_or_None)`` and nothing else the window
needs to know about.
"""

from .environ import EnvironPane
from .findings import FindingsPane
from .inside import InsidePane
from .output import OutputPane
from .overview import OverviewPane
from .request import RequestPane
from .response import ResponsePane

__all__ = ["EnvironPane", "FindingsPane", "InsidePane", "OutputPane", "OverviewPane",
           "RequestPane", "ResponsePane"]
