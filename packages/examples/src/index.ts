// @clusterip/examples: runnable scenarios and the demo.

export {};
