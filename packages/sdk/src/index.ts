// @clusterip/sdk: the only public entry. Eligible endpoints → picker → connection pool → transport.

export { ClusterIPError, isClusterIPError } from '@clusterip/resolver';
