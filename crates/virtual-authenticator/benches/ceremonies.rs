//! makeCredential and getAssertion per algorithm, in-process (the
//! authenticator's `process`, CBOR in and out, no transport). Baseline in the
//! same run: the bare signature over the same-sized message with a key
//! generated up front, so the table shows what the CTAP work adds.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ctaphid::serve::RequestContext;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{
    Descriptor, GetAssertionRequest, MakeCredentialRequest, MakeCredentialResponse, RequestOptions,
    command, encode_request, parse_response,
};
use std::hint::black_box;
use virtual_authenticator::keys::CredentialKey;
use virtual_authenticator::{AttestationMode, Authenticator, Config};

fn make_credential(alg: CoseAlgorithm) -> Vec<u8> {
    let req = MakeCredentialRequest {
        client_data_hash: vec![1; 32],
        rp_id: "example.org".into(),
        rp_name: None,
        user_id: vec![2; 16],
        user_name: Some("alice".into()),
        user_display_name: None,
        pub_key_cred_params: vec![("public-key".into(), alg)],
        exclude_list: vec![],
        extensions: None,
        options: RequestOptions::default(),
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
        enterprise_attestation: None,
        attestation_formats_preference: vec![],
    };
    encode_request(command::MAKE_CREDENTIAL, Some(&req.to_value()))
}

fn bench(c: &mut Criterion) {
    let ctx = RequestContext::detached();
    for alg in [
        CoseAlgorithm::ES256,
        CoseAlgorithm::EDDSA,
        CoseAlgorithm::ML_DSA_44,
        CoseAlgorithm::ML_DSA_65,
        CoseAlgorithm::ML_DSA_87,
    ] {
        let name = alg.name().unwrap();
        let mut group = c.benchmark_group(name);
        let key = CredentialKey::generate(alg).unwrap().unwrap();
        let message = vec![7u8; 37 + 32];
        group.bench_function("baseline_sign", |b| {
            b.iter(|| key.sign(black_box(&message)).unwrap())
        });

        let mc = make_credential(alg);
        // A fresh key per iteration (made outside the timing, and returned so
        // it is dropped outside it too): credentials would otherwise pile up
        // until the key is full and answers KEY_STORE_FULL at once.
        for (label, attestation) in [
            ("make_credential", AttestationMode::PackedSelf),
            ("make_credential_packed_basic", AttestationMode::PackedBasic),
        ] {
            group.bench_function(label, |b| {
                b.iter_batched(
                    || {
                        Authenticator::new(Config {
                            attestation,
                            ..Config::default()
                        })
                        .unwrap()
                    },
                    |mut auth| {
                        let out = auth.process(black_box(&mc), &ctx);
                        (auth, out)
                    },
                    BatchSize::SmallInput,
                )
            });
        }

        let mut auth = Authenticator::new(Config::default()).unwrap();
        let (_, body) = parse_response(&auth.process(&mc, &ctx)).unwrap();
        let att = MakeCredentialResponse::from_value(&body.unwrap())
            .unwrap()
            .to_attestation_object()
            .unwrap();
        let id = att.auth_data.attested_credential.unwrap().credential_id;
        let ga = GetAssertionRequest {
            rp_id: "example.org".into(),
            client_data_hash: vec![3; 32],
            allow_list: vec![Descriptor {
                kind: "public-key".into(),
                id,
            }],
            extensions: None,
            options: RequestOptions::default(),
            pin_uv_auth_param: None,
            pin_uv_auth_protocol: None,
        };
        let ga = encode_request(command::GET_ASSERTION, Some(&ga.to_value()));
        group.bench_function("get_assertion", |b| {
            b.iter(|| auth.process(black_box(&ga), &ctx))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
