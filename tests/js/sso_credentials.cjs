// Role credentials for a profile with the AWS SDK for JavaScript v3's own SSO provider, as a
// Node program would get them: it reads (and near expiry renews and rewrites) the SSO token
// cache. Prints {"accessKeyId": ...}; endpoints follow AWS_ENDPOINT_URL_SSO / _SSO_OIDC.
const { fromSSO } = require("@aws-sdk/credential-providers");

fromSSO({ profile: process.argv[2] })()
  .then((creds) => console.log(JSON.stringify({ accessKeyId: creds.accessKeyId })))
  .catch((error) => {
    console.error(`${error.name}: ${error.message}`);
    process.exit(1);
  });
