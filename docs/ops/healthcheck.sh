#!/bin/bash
# Docker HEALTHCHECK for hearth: GET /health on the metrics endpoint
# (HEARTH_METRICS), healthy on "200". bash alone: the slim runtime image has
# neither curl nor wget. Docker's --timeout bounds the connect.
set -euo pipefail
addr=${HEARTH_METRICS:?HEARTH_METRICS is not set: the node serves no /health}
port=${addr##*:}
host=${addr%:*}
host=${host#[}
host=${host%]}
# An unspecified bind address is reached on loopback.
case $host in
    0.0.0.0) host=127.0.0.1 ;;
    ::) host=::1 ;;
esac
exec 3<>"/dev/tcp/$host/$port"
printf 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 5 status <&3
[[ $status == "HTTP/1."?" 200 "* ]]
