"""`kubectl tfguard`: what tfguard already recorded in the cluster, for the people who run it.

Installed with the package as the `kubectl-tfguard` executable, so kubectl finds it on $PATH:

    kubectl tfguard status [-n NS | -A]        workloads, their verdict, image stack source and reason
    kubectl tfguard explain [KIND/]NAME [-n NS] the findings and the fix, the Events, the PolicyReport result
    kubectl tfguard probe-results              the ImageStacks the probe recorded

It only reads (annotations, Events, ImageStacks, ModelProfiles, PolicyReports): `explain` re-judges
the workload locally from the facts the cluster holds, with the webhook's own code, to list every
finding rather than only the worst one the annotations keep. The kubeconfig is read as kubectl reads
it (tfguard.kube.load_kubeconfig: exec plugins, auth providers, several files, contexts).
"""
