"""Pure automation logic: which transitions fire which workflows, and what their messages say."""
