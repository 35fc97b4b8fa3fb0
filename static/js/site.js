// Scripts are added by the pages that need them.
