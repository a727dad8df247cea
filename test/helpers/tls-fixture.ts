// TEST FIXTURE ONLY: self-signed keys and certificates for the TLS tests
// and benchmarks, made once with openssl (which CI may lack) and committed.
// The private keys are public here: never trust these certificates anywhere.
//
// P-256 keys; each certificate self-signed (openssl ca -selfsign) and valid
// from 2000 to 2100, so a machine whose clock is off still accepts them.
// The server's: CN=localhost, subjectAltName DNS:localhost, IP:127.0.0.1.
// The client's: CN=uring-test-client (a server trusts it by taking it as `ca`).

export const serverKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdfjPMxAgViC1qCB8
yPT4C97rhMwMR6bZKXfHHjQfCRGhRANCAAQez6xWKC8AGNTpSO1baVZb0vIrDrWA
5ku2cZAXvbVxQK2dta473D+s9ASXS6g9ueJ8VTC2pxU760EM09PwMi02
-----END PRIVATE KEY-----
`;
export const serverCert = `-----BEGIN CERTIFICATE-----
MIIBZDCCAQqgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABB7PrFYoLwAY1OlI
7VtpVlvS8isOtYDmS7ZxkBe9tXFArZ21rjvcP6z0BJdLqD254nxVMLanFTvrQQzT
0/AyLTajSzBJMBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATAMBgNVHRMEBTAD
AQH/MB0GA1UdDgQWBBT0QH+luzqtbMKmDuBZd4FUjVEh4TAKBggqhkjOPQQDAgNI
ADBFAiAGsC6xrzfzocVJqntMoLipErIKnHGyp/xkctch/P/xpQIhAMxHyRXNhBWV
Uaw5RebKPObvzuYkAgk+llD83lj894mw
-----END CERTIFICATE-----
`;

export const clientKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgM2YOW4b86CKbwaAj
sbtt8bf7jmqk6dOlpr10TBzcnDWhRANCAAT2KnBEhz8GdP2cpg5Er1DHjJjKJ6o+
bsPqfkuwEaAFPagYtcDqyvCP3dZ4hEan80NeQL6VH8SybzTLJfcyyh+m
-----END PRIVATE KEY-----
`;
export const clientCert = `-----BEGIN CERTIFICATE-----
MIIBVzCB/qADAgECAgECMAoGCCqGSM49BAMCMBwxGjAYBgNVBAMMEXVyaW5nLXRl
c3QtY2xpZW50MCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAcMRow
GAYDVQQDDBF1cmluZy10ZXN0LWNsaWVudDBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABPYqcESHPwZ0/ZymDkSvUMeMmMonqj5uw+p+S7ARoAU9qBi1wOrK8I/d1niE
RqfzQ15AvpUfxLJvNMsl9zLKH6ajLzAtMAwGA1UdEwQFMAMBAf8wHQYDVR0OBBYE
FCFATU0l2sRkMQg2uydSSQE3+2mlMAoGCCqGSM49BAMCA0gAMEUCIQDfr1LWtimJ
A8RDTAt+jisSBh4+Ks927ZnGYyrwuTUUOwIgNlIaUK6KTSQqXSR4RYCKlpkzHwGx
ZeOlE3phppbVo8Y=
-----END CERTIFICATE-----
`;
