// One Chromium at a time: the machine has two cores and the flows depend on short token lifetimes.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
