"""The review app: `distillate review` runs `streamlit run` on this file (docs/ui.md).

Pages live in ui/views/; every page reads the latest snapshot through `Workspace.reader()` and writes only
review flags (flags/flags.jsonl) through `distillate.curate.flags.add_flag`."""

import streamlit as st

from distillate.ui.common import PAGES, page_file

st.set_page_config(page_title="Distillate review", page_icon=":material/fact_check:", layout="wide")
pages = [st.Page(page_file(name), title=title, icon=icon, url_path=url, default=(name == "overview"))
         for name, (title, icon, url) in PAGES.items()]
st.navigation(pages).run()
